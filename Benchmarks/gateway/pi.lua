-- Issue 6 load: POST 16 KiB JSON bodies, 50 resident IDs each, a different set of people per request.
-- Bodies come from BENCH_BODIES (one JSON document per line, made by pibodies.py); each wrk thread
-- starts at its own offset and walks the file, so consecutive requests carry different people.
wrk.method = "POST"
wrk.path = os.getenv("BENCH_URL")
wrk.headers["Host"] = os.getenv("BENCH_HOST")
wrk.headers["Content-Type"] = "application/json"

local bodies = {}
local index = 1

function init(args)
  for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
  index = (tonumber(os.getenv("BENCH_OFFSET") or "0") % #bodies) + 1
end

function request()
  local body = bodies[index]
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, body)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
