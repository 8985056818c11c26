-- Small GET: absolute-form through a proxy (BENCH_URL=http://127.0.0.1:UP/small), or origin-form
-- straight to the upstream for the no-proxy baseline (BENCH_URL=/small).
wrk.method = "GET"
wrk.path = os.getenv("BENCH_URL")
wrk.headers["Host"] = os.getenv("BENCH_HOST")
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
