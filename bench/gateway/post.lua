-- wrk script of the gateway benchmark: the same POST for every target.
-- BENCH_BODY_FILE: the JSON request body; BENCH_HEADERS_FILE: "name: value" lines.
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "POST"
wrk.body = read(os.getenv("BENCH_BODY_FILE"))
wrk.headers["Content-Type"] = "application/json"
for line in read(os.getenv("BENCH_HEADERS_FILE")):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
