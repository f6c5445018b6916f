-- The same filtered list again and again: wrk -s wrk_list.lua -- <token> <path>
local headers, target
function init(args)
  headers = { ["Authorization"] = "Bearer " .. args[1] }
  target = args[2]
end
function request()
  return wrk.format("GET", target, headers)
end
