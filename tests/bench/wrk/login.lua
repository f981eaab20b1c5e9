-- login.lua: the OAuth2 password form, POST PATH with username and password.
--   wrk ... -s login.lua URL -- PATH USERNAME PASSWORD
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local function urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function init(args)
   wrk.method = "POST"
   wrk.path = args[1]
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   wrk.body = "grant_type=password&username=" .. urlencode(args[2]) ..
              "&password=" .. urlencode(args[3])
end
