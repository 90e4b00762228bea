function prepare()
   headers = {["Authorization"] = "Bearer " .. opt.key, ["Content-Type"] = "application/json"}
end
function request()
   local k = used
   used = used + 1
   local id = opt.prefix .. "-" .. tid .. "-" .. k
   local body = '{"transaction_id":"' .. id .. '","email":"' .. id ..
      '@example.com","properties":{"plan":"pro"},"delay_seconds":86400}'
   return wrk.format("POST", "/api/v1/transactions", headers, body)
end
