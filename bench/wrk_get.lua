-- GET one of a set of ids at random: wrk -s wrk_get.lua -- <first id> <count> <token> <prefix>
local first, count, headers, prefix
function init(args)
  first, count = tonumber(args[1]), tonumber(args[2])
  headers = { ["Authorization"] = "Bearer " .. args[3] }
  prefix = args[4]
end
function request()
  return wrk.format("GET", prefix .. (first + math.random(0, count - 1)), headers)
end
