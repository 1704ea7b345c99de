-- replay.lua - what the wrk scripts that replay a prepared list of requests share
-- (bench/scenario.lua, bench/revalidate.lua, and bench/soak.lua through scenario.lua).
--
-- replay(name, parse) defines wrk's setup, init and request: init reads the file given after
-- "--" (args[1]) line by line, parse(line, args) turns a line into a request made with wrk.format (nil
-- skips the line), and each wrk thread starts at its own place in the list and goes round it, so
-- the requests (and the users behind the tokens) are spread over the whole list rather than one
-- cached row. The WRK_RESULT line comes from bench/report.lua.

dofile("bench/report.lua")

function replay(name, parse)
   local counter = 0
   local lines = {}
   local pos = 1

   function setup(thread)
      counter = counter + 1
      thread:set("index", counter)
   end

   function init(args)
      local file = args[1]
      if not file then
         error(name .. ": give the requests file after --")
      end
      for line in io.lines(file) do
         local r = parse(line, args)
         if r then
            table.insert(lines, r)
         end
      end
      if #lines == 0 then
         error(name .. ": no request in " .. file)
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
end
