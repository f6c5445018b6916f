-- PATCH one employee after another with the ETag last seen for it, each wrk thread on its
-- own ids (so two requests never race for one row): wrk -t2 -s wrk_patch.lua -- <first id>
-- <count> <token> <prefix> <file of "id version" lines, the versions before the run>
local counter = 0
local threads = {}

function setup(thread)
  thread:set("slot", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local first, count, token, prefix, versions, next_id, body
function init(args)
  first, count, token, prefix = tonumber(args[1]), tonumber(args[2]), args[3], args[4]
  versions = {}
  for line in io.lines(args[5]) do
    local id, version = string.match(line, "(%d+) (%d+)")
    versions[tonumber(id)] = tonumber(version)
  end
  next_id = first + slot
  body = '{"notes": "measured"}'
end

function request()
  local id = next_id
  next_id = next_id + 2
  if next_id >= first + count then next_id = first + slot end
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["If-Match"] = '"' .. versions[id] .. '"',
  }
  return wrk.format("PATCH", prefix .. id, headers, body)
end

function response(status, headers, body)
  local id = tonumber(string.match(body, '"id":%s*(%d+)'))
  local tag = headers["ETag"] or headers["etag"]
  if id and tag then versions[id] = tonumber(string.match(tag, "(%d+)")) end
end
