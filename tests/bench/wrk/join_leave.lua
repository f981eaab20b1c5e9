-- join_leave.lua: one room join+leave cycle per wrk "request": POST
-- PREFIX/rooms/join then POST PREFIX/rooms/leave for the same user and
-- room, pipelined on one connection so the leave always follows its join
-- (nginx serves pipelined requests in order).  wrk counts both responses;
-- its latency is that of the whole cycle.
--   wrk ... -s join_leave.lua URL -- PREFIX ROOM_ID TOKENS_FILE NTHREADS
-- The users (one token a line) are shared out among the threads (line k
-- goes to thread k mod NTHREADS) and each thread takes its users in turn,
-- so with at least two users per connection no user is in two cycles at
-- once.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local next_id = 0
function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
end

local cycles = {}
local i = 0

function init(args)
   local prefix, room, file, nthreads = args[1], args[2], args[3], tonumber(args[4])
   local body = '{"room_id":' .. room .. '}'
   local k = 0
   for line in io.lines(file) do
      if #line > 0 then
         if k % nthreads == (tid or 0) then
            local h = { ["Authorization"] = "Bearer " .. line,
                        ["Content-Type"] = "application/json" }
            cycles[#cycles + 1] = wrk.format("POST", prefix .. "/rooms/join", h, body) ..
                                  wrk.format("POST", prefix .. "/rooms/leave", h, body)
         end
         k = k + 1
      end
   end
   assert(#cycles > 0, "no tokens for thread " .. tostring(tid))
end

function request()
   i = i % #cycles + 1
   return cycles[i]
end
