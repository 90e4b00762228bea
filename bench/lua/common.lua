-- Written by bench/run.py for one wrk run. Options arrive as key=value after "--".
local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   threads[#threads + 1] = thread
end

tid = 0
used = 0
wrapped = 0
statuses = {}
opt = {}
tokens = {}
ntokens = 0

function init(args)
   for _, a in pairs(args) do
      local k, v = string.match(a, "^(%w+)=(.*)$")
      if k then opt[k] = v end
   end
   if opt.tokens then
      local start, nthreads, limit = tonumber(opt.start), tonumber(opt.threads), tonumber(opt.limit)
      local f = assert(io.open(opt.tokens, "r"))
      local i = 0
      for line in f:lines() do
         if i >= start and (i - start) % nthreads == tid then
            ntokens = ntokens + 1
            tokens[ntokens] = line
            if ntokens >= limit then break end
         end
         i = i + 1
      end
      f:close()
      assert(ntokens > 0, "no link tokens for thread " .. tid)
   end
   prepare()
end

-- This thread's next token and its position k in the thread's slice.
function take()
   local k = used
   used = used + 1
   if k >= ntokens then wrapped = wrapped + 1 end
   return tokens[(k % ntokens) + 1], k
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local per, slices, st, wrapped_all = {}, {}, {}, 0
   for _, t in ipairs(threads) do
      per[#per + 1] = string.format("%d", t:get("used"))
      slices[#slices + 1] = string.format("%d", t:get("ntokens"))
      wrapped_all = wrapped_all + t:get("wrapped")
      for code, n in pairs(t:get("statuses")) do st[code] = (st[code] or 0) + n end
   end
   local codes = {}
   for code, n in pairs(st) do codes[#codes + 1] = string.format('"%d":%d', code, n) end
   local e = summary.errors
   io.write(string.format('BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"p99.9":%.0f,"max":%.0f,"mean":%.1f},' ..
      '"statuses":{%s},"used_per_thread":[%s],"slice_per_thread":[%s],"wrapped":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean,
      table.concat(codes, ","), table.concat(per, ","), table.concat(slices, ","), wrapped_all))
end
