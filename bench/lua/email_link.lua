-- The two requests of the survey email's path, as a browser sends them: the score click on a
-- link token, then the comment form posted to the same token. The scenario's request() (one
-- line, in bench/npsd_bench/scenarios.py) picks one.
function prepare()
   headers = {["User-Agent"] = "@UA@", ["Accept-Language"] = "en-GB,en;q=0.9",
              ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
   form_headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
   for name, value in pairs(headers) do form_headers[name] = value end
end

function score_click()
   local token, k = take()
   return wrk.format("GET", "/r/" .. token .. "?score=" .. ((k + tid) % 11), headers)
end

function comment_post()
   local token, k = take()
   local body = "score=" .. ((k + tid) % 11) ..
      "&comment=Quick+delivery+and+the+size+was+right%2C+thanks%21+%28order+" .. k .. "%29"
   return wrk.format("POST", "/r/" .. token, form_headers, body)
end
