-- soak.lua - wrk script for bench/soak.sh: bench/scenario.lua's request list, paced.
--
-- Usage: wrk -s bench/soak.lua URL -- FILE THINK_MS
-- Each connection waits THINK_MS (fractional: the remainder is carried from one request to the
-- next) between an answer and its next request, so that C connections send about
-- C / (THINK_MS + latency) requests a second; bench/soak.sh adjusts THINK_MS window after window
-- to hold the rate it aims at. wrk (4.1, Debian) has no constant-rate mode (wrk2 is not packaged);
-- this is a closed loop: when the server slows down, the rate drops with it.

dofile("bench/scenario.lua")

local scenario_init = init
local think = 0
local carry = 0

function init(args)
   scenario_init(args)
   think = tonumber(args[2]) or 0
end

function delay()
   carry = carry + think
   local d = math.floor(carry)
   carry = carry - d
   return d
end
