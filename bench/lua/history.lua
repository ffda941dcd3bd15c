-- wrk: POST /update-user-sales-history with N entries whose amounts change on every
-- request (so every request really writes N rows), spread over several users.
-- Arguments (after --): N, then the users' uuids.
local entries, uuids, counter, tid = 100, {}, 0, 0
local next_tid = 0

setup = function(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end

init = function(args)
  entries = tonumber(args[1])
  for i = 2, #args do uuids[#uuids + 1] = args[i] end
  tid = tonumber(wrk.thread:get("tid")) or 1
  wrk.headers["Content-Type"] = "application/json"  -- next to -H Authorization
end

request = function()
  counter = counter + 1
  local uuid = uuids[(counter % #uuids) + 1]
  local parts = {}
  for j = 1, entries do
    parts[j] = string.format(
      '{"nit":"900%04d-7","monto":%d.%02d,"fecha":"2024-06-%02dT10:30:00-05:00","emc":"Bench EMC %d"}',
      j, counter * 8 + tid, j % 100, (j % 28) + 1, j % 7)
  end
  local body = '{"user_id":"' .. uuid .. '","history":[' .. table.concat(parts, ",") .. '],"replace":false}'
  return wrk.format("POST", nil, nil, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"non_2xx_3xx":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
