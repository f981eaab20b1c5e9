-- join_leave.lua: one room membership cycle per wrk "request": POST
-- PREFIX/rooms/leave then POST PREFIX/rooms/join for the same user and room,
-- pipelined on one connection (nginx serves pipelined requests in order, so
-- the join always follows its leave).  wrk counts both responses; its
-- latency is that of the whole cycle.
--   wrk ... -s join_leave.lua URL -- PREFIX ROOM_ID USERS_FILE NTHREADS
-- USERS_FILE has one "user_id access_token" a line; every user is a member
-- of the room when the run starts (and again after each cycle).  Line k goes
-- to thread k mod NTHREADS.
--
-- No user is ever in two cycles at once, however slow a side gets: a
-- thread hands out only users whose previous cycle has ended, and a cycle
-- ends with the join's answer, which names the user ({"user_id": ...}).
-- With more users than connections a free user always exists; if answers
-- stop naming users (errors), the script falls back to taking users in
-- turn, and the errors show up in the non-2xx count anyway.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local next_id = 0
function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
end

local cycles = {}   -- index -> pipelined leave+join
local index_of = {} -- user id -> index
local busy = {}     -- index -> true while its cycle runs
local free = {}     -- stack of free indexes
local rr = 0

function init(args)
   local prefix, room, file, nthreads = args[1], args[2], args[3], tonumber(args[4])
   local body = '{"room_id":' .. room .. '}'
   local k = 0
   for line in io.lines(file) do
      local uid, token = line:match("^(%d+)%s+(%S+)")
      if uid then
         if k % nthreads == (tid or 0) then
            local h = { ["Authorization"] = "Bearer " .. token,
                        ["Content-Type"] = "application/json" }
            cycles[#cycles + 1] = wrk.format("POST", prefix .. "/rooms/leave", h, body) ..
                                  wrk.format("POST", prefix .. "/rooms/join", h, body)
            index_of[tonumber(uid)] = #cycles
         end
         k = k + 1
      end
   end
   assert(#cycles > 0, "no users for thread " .. tostring(tid))
   for i = #cycles, 1, -1 do free[#free + 1] = i end
end

function request()
   local i = table.remove(free)
   if not i then
      -- every user busy: only when join answers stopped naming users
      rr = rr % #cycles + 1
      i = rr
   end
   busy[i] = true
   return cycles[i]
end

function response(status, headers, body)
   if status == 200 then
      local uid = body:match('"user_id"%s*:%s*(%d+)')
      local i = uid and index_of[tonumber(uid)]
      if i and busy[i] then
         busy[i] = nil
         free[#free + 1] = i
      end
   end
end
