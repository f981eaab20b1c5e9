-- report.lua: the done() hook every bench script loads.  Prints one line
--   WRKJSON {"requests":..,"duration_us":..,"errors":{..},"latency_us":{..}}
-- that tests/bench/harness.py parses.  errors.status counts responses with
-- a status >= 400 (wrk's own rule), so 429s and 5xx are never throughput.
--
-- Percentiles: wrk's coordinated-omission correction (stats_correct) may
-- add samples below the smallest recorded latency, which its percentile()
-- never reaches (it then returns 0; this happens with pipelined requests,
-- where wrk's expected interval is off by the pipeline depth).  So first
-- find the share of samples percentile() can see and scale p into it.

local function visible_share(latency)
   local lo, hi = 0, 100
   for _ = 1, 40 do
      local mid = (lo + hi) / 2
      if latency:percentile(mid) == 0 then hi = mid else lo = mid end
   end
   return lo
end

function done(summary, latency, requests)
   local e = summary.errors
   local share = visible_share(latency)
   local function pct(p) return latency:percentile(p * share / 100) end
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
      '"visible_pct":%.3f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      pct(50), pct(90), pct(99), latency.mean, latency.stdev, latency.max, share))
end
