-- pipeline.lua - wrk script: send DEPTH (default 16) pipelined `GET /`
-- requests per write.   wrk -s pipeline.lua URL -- 16
-- wrk counts the pipelined requests in the string returned by request()
-- (script_verify_request) and counts each parsed response, so "Requests/sec"
-- is responses per second, not writes per second.
init = function(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format("GET", "/")
   end
   req = table.concat(r)
end

request = function()
   return req
end
