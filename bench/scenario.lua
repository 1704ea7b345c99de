-- scenario.lua - wrk script replaying a prepared list of requests (bench/district.sh).
--
-- Usage: wrk -s bench/scenario.lua URL -- FILE [gzip]
-- FILE has one request per line, fields separated by tabs: METHOD, PATH, bearer TOKEN and an
-- optional JSON BODY. The list is replayed by bench/replay.lua (each thread from its own place).
-- With "gzip", every request says `Accept-Encoding: gzip`, as browsers do.

dofile("bench/replay.lua")

replay("scenario.lua", function(line, args)
   local method, path, token, body = line:match("^([A-Z]+)\t([^\t]+)\t([^\t]*)\t?(.*)$")
   if not method then
      return nil
   end
   local headers = { ["Authorization"] = "Bearer " .. token }
   if args[2] == "gzip" then
      headers["Accept-Encoding"] = "gzip"
   end
   if body ~= "" then
      headers["Content-Type"] = "application/json"
   else
      body = nil
   end
   return wrk.format(method, path, headers, body)
end)
