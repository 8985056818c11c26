-- Issue 6 load: POST 16 KiB JSON bodies, 50 resident IDs each.
-- Two sources of bodies, the same shape (pibodies.py's: same fields, same ID sequence, 16,384 bytes):
--  * BENCH_BODIES unset: made here, request by request, with people no earlier request carried.
--    This is what an inspecting, counting proxy is measured with: a file of pre-made bodies runs
--    out after a few seconds at these rates and then only repeats people the ledger already holds.
--    BENCH_OFFSET (a request number) is where the ID sequence starts; the scripts give every
--    measurement its own, so no run repeats another's people. 4.9 M requests fit before it wraps.
--  * BENCH_BODIES=FILE (one body per line, pibodies.py): walked from BENCH_OFFSET. Cheaper still
--    for the load generator, which shares its core with the upstream (straight to nginx: ~46,000
--    requests/s against ~38,000 made here): used for proxies that do not look at the people (plain
--    forwarding), which come closest to the generator's limit.
wrk.method = "POST"
wrk.path = os.getenv("BENCH_URL")
wrk.headers["Host"] = os.getenv("BENCH_HOST")
wrk.headers["Content-Type"] = "application/json"

local SIZE, PEOPLE = 16384, 50
local WEIGHTS = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 }
local CHECK = "10X98765432"
local AREAS = { "110101", "110105", "120101", "310101", "310115", "320102", "330106", "440103",
  "440305", "510104", "420102", "610102", "370102", "350102", "430102", "500103" }
local SURNAMES = { "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou" }
local GIVEN = { "Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Tao", "Xiu", "Hui" }
local TIERS = { "gold", "silver", "basic" }
local DATES = 46 * 12 * 28 -- 1960..2005, 28 days a month: every one a valid civil date
local CYCLE = math.floor(999 * #AREAS * DATES / PEOPLE) -- requests before the IDs repeat

-- The check digit is a weighted sum mod 11, so each part's share is worked out once.
local function weighted(digits, first)
  local t = 0
  for i = 1, #digits do t = t + (digits:byte(i) - 48) * WEIGHTS[first + i - 1] end
  return t
end
local areaSum, dateText, dateSum, seqText, seqSum = {}, {}, {}, {}, {}
for i, a in ipairs(AREAS) do areaSum[i] = weighted(a, 1) end
for d = 0, DATES - 1 do
  local text = string.format("%04d%02d%02d", 1960 + math.floor(d / 336), math.floor(d / 28) % 12 + 1, d % 28 + 1)
  dateText[d], dateSum[d] = text, weighted(text, 7)
end
for s = 1, 999 do
  local text = string.format("%03d", s)
  seqText[s], seqSum[s] = text, weighted(text, 15)
end

-- A request is built in one C buffer (LuaJIT's FFI) and becomes a Lua string once: the HTTP head
-- and the body's fixed parts are written at start, so a request writes only its batch number, its
-- customer number and its 50 IDs. Building it from Lua strings (a part per field, then two
-- concatenations of 16 KiB) held the generator to ~11,000 requests/s, close to what it must measure.
local ffi = require("ffi")
local head, buf, records, spots = nil, nil, nil, {}
local NOTE = '],"note":"'
local index = 0

-- The records are the same every request but for the customer number (7 digits) and the IDs (18
-- characters), so they are laid out once with placeholders, and where those go is remembered.
local function layoutRecords()
  local parts, at = {}, 0
  for k = 0, PEOPLE - 1 do
    local rec = string.format('%s{"customer":"C', k > 0 and "," or "")
    local customerAt = at + #rec
    rec = rec .. string.format('0000000%02d","name":"%s %s","id_number":"', k,
      SURNAMES[k % #SURNAMES + 1], GIVEN[k % #GIVEN + 1])
    local idAt = at + #rec
    rec = rec .. string.format('000000000000000000","tier":"%s"}', TIERS[k % #TIERS + 1])
    spots[k] = { customerAt, idAt }
    parts[#parts + 1] = rec
    at = at + #rec
  end
  records = table.concat(parts)
end

-- Writes the n-th distinct ID at `at`, in pibodies.py's order: sequence, then area, then birth day.
local function writeID(at, n)
  local seq = n % 999 + 1
  n = math.floor(n / 999)
  local area = n % #AREAS + 1
  local d = math.floor(n / #AREAS) % DATES
  local c = (areaSum[area] + dateSum[d] + seqSum[seq]) % 11 + 1
  ffi.copy(buf + at, AREAS[area], 6)
  ffi.copy(buf + at + 6, dateText[d], 8)
  ffi.copy(buf + at + 14, seqText[seq], 3)
  buf[at + 17] = CHECK:byte(c)
end

local function generated()
  local prefix = '{"batch":' .. index .. ',"source":"crm-export","records":['
  local at = #head
  ffi.copy(buf + at, prefix)
  at = at + #prefix
  ffi.copy(buf + at, records)
  local customer = string.format("%07d", index % 10000000)
  local base = index * PEOPLE
  for k = 0, PEOPLE - 1 do
    ffi.copy(buf + at + spots[k][1], customer, 7)
    writeID(at + spots[k][2], base + k)
  end
  at = at + #records
  ffi.copy(buf + at, NOTE)
  at = at + #NOTE
  -- The batch number grows a digit now and then and shrinks only when the sequence wraps: the
  -- note's padding right after this request's end is written again so no older end shows through.
  ffi.fill(buf + at, 16, 120) -- 'x'
  index = (index + 1) % CYCLE
  return ffi.string(buf, #head + SIZE)
end

local file = {}

function init(args)
  index = math.floor(tonumber(os.getenv("BENCH_OFFSET") or "0") % CYCLE)
  local path = os.getenv("BENCH_BODIES")
  if path and path ~= "" then
    for line in io.lines(path) do file[#file + 1] = line end
    index = index % #file
    return
  end
  layoutRecords()
  local whole = wrk.format(nil, nil, nil, string.rep("x", SIZE - 2) .. '"}')
  head = whole:sub(1, #whole - SIZE)
  assert(whole:sub(#head - 3, #head) == "\r\n\r\n", "wrk.format did not end the head where expected")
  buf = ffi.new("uint8_t[?]", #whole)
  ffi.copy(buf, whole, #whole)
end

function request()
  if #file > 0 then
    index = index % #file + 1
    return wrk.format(nil, nil, nil, file[index])
  end
  return generated()
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
