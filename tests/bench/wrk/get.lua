-- get.lua: GET one path, with a bearer token when a token file is given.
--   wrk ... -s get.lua URL -- PATH [TOKENS_FILE]
-- Each wrk thread takes one token (thread i: line i mod n), set once in
-- init(), so the request stays static and costs wrk no Lua per request.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local next_id = 0
function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
end

function init(args)
   wrk.method = "GET"
   wrk.path = args[1] or wrk.path
   if args[2] and args[2] ~= "-" then
      local tokens = {}
      for line in io.lines(args[2]) do
         if #line > 0 then tokens[#tokens + 1] = line end
      end
      assert(#tokens > 0, "no tokens in " .. args[2])
      wrk.headers["Authorization"] = "Bearer " .. tokens[(tid or 0) % #tokens + 1]
   end
end
