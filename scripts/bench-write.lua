-- bench-write.lua -- wrk script of `make bench`'s write row: POST
-- /api/v1/appointments, then DELETE /api/v1/appointments/{id} of a booking
-- made before, alternating (scripts/bench.sh).
--
-- State is per wrk thread: the ids of bookings made and not yet cancelled
-- (a FIFO).  request() cancels the oldest when there is one, else books the
-- thread's next slot; a connection's response() runs before its next
-- request(), so at one connection the requests strictly alternate.  Slots
-- are distinct: thread t of n takes slot indices t, t + n, t + 2n, ...
-- over 20 staff x 288 five-minute starts of BENCH_DATE, so a slot comes back
-- only after thousands of bookings, long after its booking was cancelled.
-- Every answer that is not 201 / 200 counts in wrk's "Non-2xx" line, which
-- bench.sh requires to be 0.
--
-- Environment: BENCH_KEY, BENCH_CUSTOMER, BENCH_SERVICE, BENCH_STAFF0 (the
-- first of 20 consecutive staff ids), BENCH_DATE (YYYY-MM-DD),
-- BENCH_THREADS (wrk's -t).

local threads = {}
local counter = 0

function setup(thread)
    thread:set("tindex", #threads)
    table.insert(threads, thread)
end

local ids, head, tail = {}, 1, 0
local nthreads, customer, service, staff0, date

function init(args)
    nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
    customer = os.getenv("BENCH_CUSTOMER")
    service = os.getenv("BENCH_SERVICE")
    staff0 = tonumber(os.getenv("BENCH_STAFF0"))
    date = os.getenv("BENCH_DATE")
    wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
    wrk.headers["Content-Type"] = "application/json"
end

function request()
    if head <= tail then
        local id = ids[head]
        ids[head] = nil
        head = head + 1
        return wrk.format("DELETE", "/api/v1/appointments/" .. id, nil, "")
    end
    local k = (counter * nthreads + tindex) % (20 * 288)
    counter = counter + 1
    local staff = staff0 + k % 20
    local m = math.floor(k / 20) * 5
    local body = string.format(
        '{"customer_id":%s,"service_id":%s,"staff_id":%d,"appointment_date":"%s",' ..
        '"appointment_time":"%02d:%02d"}', customer, service, staff, date,
        math.floor(m / 60), m % 60)
    return wrk.format("POST", "/api/v1/appointments", nil, body)
end

function response(status, headers, body)
    if status == 201 then
        local id = string.match(body, '"id":(%d+)')
        if id then
            tail = tail + 1
            ids[tail] = id
        end
    end
end
