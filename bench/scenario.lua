-- scenario.lua - wrk script replaying a prepared list of requests (bench/district.sh).
--
-- Usage: wrk -s bench/scenario.lua URL -- FILE
-- FILE has one request per line, fields separated by tabs: METHOD, PATH, bearer TOKEN and an
-- optional JSON BODY. Each wrk thread starts at its own place in the list and goes round it, so
-- the requests (and the users behind the tokens) are spread over the whole list rather than one
-- cached row. The WRK_RESULT line comes from bench/report.lua.

dofile("bench/report.lua")

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("index", counter)
   table.insert(threads, thread)
end

local lines = {}
local pos = 1

function init(args)
   local file = args[1]
   if not file then
      error("scenario.lua: give the requests file after --")
   end
   for line in io.lines(file) do
      local method, path, token, body = line:match("^([A-Z]+)\t([^\t]+)\t([^\t]*)\t?(.*)$")
      if method then
         local headers = { ["Authorization"] = "Bearer " .. token }
         if body ~= "" then
            headers["Content-Type"] = "application/json"
         else
            body = nil
         end
         table.insert(lines, wrk.format(method, path, headers, body))
      end
   end
   if #lines == 0 then
      error("scenario.lua: no request in " .. file)
   end
   -- Spread the threads' starting points over the list.
   local index = tonumber(wrk.thread:get("index")) or 1
   pos = ((index - 1) * 7919) % #lines + 1
end

function request()
   local r = lines[pos]
   pos = pos % #lines + 1
   return r
end
