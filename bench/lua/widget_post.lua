function prepare()
   headers = {["User-Agent"] = "@UA@", ["Content-Type"] = "application/json",
              ["Origin"] = "https://shop.example", ["Accept"] = "application/json"}
end
function request()
   local k = used
   used = used + 1
   local body = string.format('{"score":%d,"comment":"Found what I needed in two clicks (visit %d)",' ..
      '"visitor_id":"%s-%d-%d","page_url":"https://shop.example/checkout/%d"}',
      (k + tid) % 11, k, opt.prefix, tid, k, k)
   return wrk.format("POST", "/api/v1/embed/default/responses", headers, body)
end
