-- wrk script: POSTs Precoro webhook bodies ({"id","type":7,"action":0}) with an entity id new for
-- every request, counts the answers, and with an output prefix writes the id of every delivery
-- answered 200 "accepted" to PREFIX.<thread> (one id a line).
-- Usage: wrk -s bench/webhook.lua URL -- PATH_WITH_TOKEN [FIRST_ID] [OUTPUT_PREFIX]
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  next_id = (tonumber(args[2]) or 1000000000) + tid * 100000000
  if args[3] then
    out = assert(io.open(args[3] .. "." .. tid, "w"))
    out:setvbuf("line") -- wrk never closes a thread's state: nothing may wait in a buffer
  end
  accepted, duplicate, other2xx, non2xx, server_errors = 0, 0, 0, 0, 0
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  next_id = next_id + 1
  return wrk.format("POST", path, nil, string.format('{"id":%d,"type":7,"action":0}', next_id))
end

function response(status, headers, body)
  if status == 200 and body:find('"accepted"', 1, true) then
    accepted = accepted + 1
    if out then
      out:write(body:match('"id":(%d+)'), "\n")
    end
  elseif status == 200 and body:find('"duplicate"', 1, true) then
    duplicate = duplicate + 1
  elseif status >= 200 and status < 300 then
    other2xx = other2xx + 1
  else
    non2xx = non2xx + 1
    if status >= 500 then
      server_errors = server_errors + 1
    end
  end
end

function done(summary, latency, requests)
  local totals = { accepted = 0, duplicate = 0, other2xx = 0, non2xx = 0, server_errors = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(totals) do
      totals[k] = totals[k] + t:get(k)
    end
  end
  local e = summary.errors
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("seconds %.3f\n", summary.duration / 1e6))
  io.write(string.format("accepted %d\nduplicate %d\nother_2xx %d\nnon_2xx %d\nstatus_5xx %d\n",
    totals.accepted, totals.duplicate, totals.other2xx, totals.non2xx, totals.server_errors))
  io.write(string.format("socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("latency_ms p50 %.3f p99 %.3f max %.3f\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
