-- The write yardstick (bench/yardstick.rs): one row appended per request, answered 201 after its
-- commit. A form body like the comment post's, without the comment.
function prepare()
   headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
end
function request()
   local k = used
   used = used + 1
   return wrk.format("POST", "/append", headers, "score=" .. ((k + tid) % 11))
end
