-- scenario.lua - wrk script replaying a prepared list of requests (bench/district.sh).
--
-- Usage: wrk -s bench/scenario.lua URL -- FILE [gzip]
-- FILE has one request per line, fields separated by tabs: METHOD, PATH, bearer TOKEN and an
-- optional JSON BODY. The list is replayed by bench/replay.lua (each thread from its own place).
-- With "gzip", every request says `Accept-Encoding: gzip`, as browsers do; BENCH_ACCEPT_ENCODING
-- (unset by default) does the same from the environment with any value: the answer cache then
-- sends the gzip form it keeps (docs/read-paths.md).

local accept_encoding = os.getenv("BENCH_ACCEPT_ENCODING")

dofile("bench/replay.lua")

replay("scenario.lua", function(line, args)
   local method, path, token, body = line:match("^([A-Z]+)\t([^\t]+)\t([^\t]*)\t?(.*)$")
   if not method then
      return nil
   end
   local headers = { ["Authorization"] = "Bearer " .. token }
   if args[2] == "gzip" then
      headers["Accept-Encoding"] = "gzip"
   elseif accept_encoding and accept_encoding ~= "" then
      headers["Accept-Encoding"] = accept_encoding
   end
   if body ~= "" then
      headers["Content-Type"] = "application/json"
   else
      body = nil
   end
   return wrk.format(method, path, headers, body)
end)
