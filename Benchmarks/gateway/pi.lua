-- Issue 6 load: POST 16 KiB JSON bodies, 50 resident IDs each.
-- Two sources of bodies, the same shape (pibodies.py's: same fields, same ID sequence, 16,384 bytes):
--  * BENCH_BODIES unset: made here, request by request, with people no earlier request carried.
--    This is what an inspecting, counting proxy is measured with: a file of pre-made bodies runs
--    out after a few seconds at these rates and then only repeats people the ledger already holds.
--    BENCH_OFFSET (a request number) is where the ID sequence starts; the scripts give every
--    measurement its own, so no run repeats another's people. 4.9 M requests fit before it wraps.
--  * BENCH_BODIES=FILE (one body per line, pibodies.py): walked from BENCH_OFFSET. Cheaper for the
--    load generator, which shares its core with the upstream: used for proxies that do not look at
--    the people (plain forwarding), which would otherwise be measured against the generator's limit.
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

-- The n-th distinct ID, in pibodies.py's order: sequence, then area, then birth day.
local function residentID(n)
  local seq = n % 999 + 1
  n = math.floor(n / 999)
  local area = n % #AREAS + 1
  local d = math.floor(n / #AREAS) % DATES
  local c = (areaSum[area] + dateSum[d] + seqSum[seq]) % 11 + 1
  return AREAS[area] .. dateText[d] .. seqText[seq] .. CHECK:sub(c, c)
end

-- Everything but the IDs and the batch number is the same in every body: the pieces around each
-- person's ID are made once (names and tiers follow the person's place in the body), so a request
-- costs 50 IDs and one concatenation — the generator must outrun the proxies it loads.
local before, after = {}, {}
for k = 0, PEOPLE - 1 do
  before[k] = string.format('%02d","name":"%s %s","id_number":"', k, SURNAMES[k % #SURNAMES + 1], GIVEN[k % #GIVEN + 1])
  after[k] = string.format('","tier":"%s"}', TIERS[k % #TIERS + 1])
end
local padding = string.rep("x", SIZE)
local tails = {}  -- the note's padding and the closing, by the length of the rest
local index = 0

local file = {}

function init(args)
  index = math.floor(tonumber(os.getenv("BENCH_OFFSET") or "0") % CYCLE)
  local path = os.getenv("BENCH_BODIES")
  if path and path ~= "" then
    for line in io.lines(path) do file[#file + 1] = line end
    index = index % #file
  end
end

function request()
  if #file > 0 then
    index = index % #file + 1
    return wrk.format(nil, nil, nil, file[index])
  end
  local parts, n = {}, 1
  parts[1] = '{"batch":' .. index .. ',"source":"crm-export","records":['
  local customer = string.format('{"customer":"C%07d', index % 10000000)
  local base = index * PEOPLE
  for k = 0, PEOPLE - 1 do
    parts[n + 1] = k > 0 and "," .. customer or customer
    parts[n + 2] = before[k]
    parts[n + 3] = residentID(base + k)
    parts[n + 4] = after[k]
    n = n + 4
  end
  parts[n + 1] = '],"note":"'
  local body = table.concat(parts)
  local tail = tails[#body]
  if not tail then
    tail = padding:sub(1, SIZE - #body - 2) .. '"}'
    tails[#body] = tail
  end
  index = (index + 1) % CYCLE
  return wrk.format(nil, nil, nil, body .. tail)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
