function prepare()
   headers = {["User-Agent"] = "@UA@", ["Accept-Language"] = "en-GB,en;q=0.9",
              ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
end
function request()
   local token, k = take()
   return wrk.format("GET", "/r/" .. token .. "?score=" .. ((k + tid) % 11), headers)
end
