function prepare()
   headers = {["User-Agent"] = "@UA@", ["Accept"] = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
              ["Content-Type"] = "application/x-www-form-urlencoded"}
end
function request()
   local token, k = take()
   local body = "score=" .. ((k + tid) % 11) ..
      "&comment=Quick+delivery+and+the+size+was+right%2C+thanks%21+%28order+" .. k .. "%29"
   return wrk.format("POST", "/r/" .. token, headers, body)
end
