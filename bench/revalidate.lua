-- revalidate.lua - wrk script for S1-304: clients that revalidate what they hold (bench/district.sh).
--
-- Usage: wrk -s bench/revalidate.lua URL -- FILE
-- FILE has one request per line, fields separated by tabs: METHOD, PATH, bearer TOKEN and the
-- ETAG that a first request of that user got (bench/etags.mjs writes it from S1's list). Every
-- request sends it in If-None-Match, as a browser does with `Cache-Control: private, no-cache`:
-- while the card is unchanged, the answer is 304 without a body. Each wrk thread starts at its
-- own place in the list and goes round it. The WRK_RESULT line comes from bench/report.lua (a
-- 304 counts as a success there).

dofile("bench/report.lua")

local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("index", counter)
end

local lines = {}
local pos = 1

function init(args)
   local file = args[1]
   if not file then
      error("revalidate.lua: give the requests file after --")
   end
   for line in io.lines(file) do
      local method, path, token, etag = line:match("^([A-Z]+)\t([^\t]+)\t([^\t]*)\t(.+)$")
      if method then
         local headers = { ["Authorization"] = "Bearer " .. token, ["If-None-Match"] = etag }
         table.insert(lines, wrk.format(method, path, headers))
      end
   end
   if #lines == 0 then
      error("revalidate.lua: no request in " .. file)
   end
   local index = tonumber(wrk.thread:get("index")) or 1
   pos = ((index - 1) * 7919) % #lines + 1
end

function request()
   local r = lines[pos]
   pos = pos % #lines + 1
   return r
end
