-- POST of a 16 KiB JSON body with no personal information in it (plain forwarding cost).
wrk.method = "POST"
wrk.path = os.getenv("BENCH_URL")
wrk.headers["Host"] = os.getenv("BENCH_HOST")
wrk.headers["Content-Type"] = "application/json"
local filler = string.rep("lorem ipsum dolor sit amet ", 700)
local body = '{"kind":"telemetry","data":"' .. filler
body = string.sub(body, 1, 16384 - 2) .. '"}'
wrk.body = body
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
