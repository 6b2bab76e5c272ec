-- wrk script for infra/bench/throughput.sh. Configured by environment variables:
--   WRK_METHOD  GET (default) or POST
--   WRK_BODY    request body (sent as application/x-www-form-urlencoded)
--   WRK_AUTH    Authorization header value
--   WRK_JSON    file to write the summary to (requests, errors, latency percentiles in us)
-- No response() callback: it would slow wrk down. Non-2xx/3xx answers are counted by wrk
-- itself (summary.errors.status).
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local auth = os.getenv("WRK_AUTH")

wrk.method = method
wrk.headers["Accept"] = "application/json"
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

function done(summary, latency, requests)
  local path = os.getenv("WRK_JSON")
  if not path or path == "" then return end
  local f = assert(io.open(path, "w"))
  local e = summary.errors
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
  f:close()
end
