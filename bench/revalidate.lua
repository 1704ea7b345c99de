-- revalidate.lua - wrk script for S1-304: clients that revalidate what they hold (bench/district.sh).
--
-- Usage: wrk -s bench/revalidate.lua URL -- FILE
-- FILE has one request per line, fields separated by tabs: METHOD, PATH, bearer TOKEN and the
-- ETAG that a first request of that user got (bench/etags.mjs writes it from S1's list). Every
-- request sends it in If-None-Match, as a browser does with `Cache-Control: private, no-cache`:
-- while the card is unchanged, the answer is 304 without a body. The list is replayed by
-- bench/replay.lua; a 304 counts as a success in the WRK_RESULT line (bench/report.lua).

dofile("bench/replay.lua")

replay("revalidate.lua", function(line)
   local method, path, token, etag = line:match("^([A-Z]+)\t([^\t]+)\t([^\t]*)\t(.+)$")
   if not method then
      return nil
   end
   return wrk.format(method, path, { ["Authorization"] = "Bearer " .. token, ["If-None-Match"] = etag })
end)
