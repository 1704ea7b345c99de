-- scenario.lua - wrk script replaying a prepared list of requests (bench/district.sh).
--
-- Usage: wrk -s bench/scenario.lua URL -- FILE
-- FILE has one request per line, fields separated by tabs: METHOD, PATH, bearer TOKEN and an
-- optional JSON BODY. The list is replayed by bench/replay.lua (each thread from its own place).
-- BENCH_ACCEPT_ENCODING (unset by default) is sent as Accept-Encoding, as a browser sends "gzip":
-- the answer cache then sends the gzip form it keeps (docs/read-paths.md).

local accept_encoding = os.getenv("BENCH_ACCEPT_ENCODING")

dofile("bench/replay.lua")

replay("scenario.lua", function(line)
   local method, path, token, body = line:match("^([A-Z]+)\t([^\t]+)\t([^\t]*)\t?(.*)$")
   if not method then
      return nil
   end
   local headers = { ["Authorization"] = "Bearer " .. token }
   if accept_encoding and accept_encoding ~= "" then
      headers["Accept-Encoding"] = accept_encoding
   end
   if body ~= "" then
      headers["Content-Type"] = "application/json"
   else
      body = nil
   end
   return wrk.format(method, path, headers, body)
end)
