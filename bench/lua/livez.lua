function prepare() req = wrk.format("GET", "/livez") end
function request() used = used + 1; return req end
