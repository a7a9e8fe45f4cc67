-- Drives `prover lsp` from a real headless Neovim (0.7 and later): for each `sorry` of the buffer
-- in turn (those on lines marked `-- keep` stay), its code action and command, then a wait until
-- the server's edit has replaced it.
-- Environment: PROVER_BIN, PROVER_ARGS (newline-separated), PROVER_OUT (where the buffer, the
-- progress kinds and the server's messages are written).
local bin = os.getenv('PROVER_BIN')
local out = os.getenv('PROVER_OUT')
local cmd = { bin, 'lsp' }
for arg in string.gmatch(os.getenv('PROVER_ARGS') or '', '[^\n]+') do
  table.insert(cmd, arg)
end

local progress = {}
local messages = {}
local ready = false
local function fail(message)
  local f = io.open(out .. '.error', 'w')
  f:write(message)
  f:close()
  vim.cmd('cquit 1')
end

local config = {
  name = 'prover',
  cmd = cmd,
  root_dir = vim.fn.getcwd(),
  on_init = function() ready = true end,
  handlers = {
    ['$/progress'] = function(_, result)
      table.insert(progress, result.value.kind)
    end,
    ['window/showMessage'] = function(_, result)
      table.insert(messages, result.type .. ' ' .. string.gsub(result.message, '\n', ' '))
    end,
  },
}
local id = vim.lsp.start_client(config)
if not id then fail('the server did not start') end
vim.lsp.buf_attach_client(0, id)
if not vim.wait(30000, function() return ready end, 50) then fail('no initialize answer') end

-- The sorries still to prove: not in a comment line, not on a line marked `-- keep`.
local function sorries()
  local found = {}
  for lnum, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    local col = string.find(line, 'sorry', 1, true)
    if col and not string.find(line, '^%s*%-%-') and not string.find(line, '-- keep', 1, true) then
      table.insert(found, { lnum, col - 1 })
    end
  end
  return found
end

local rounds = 0
while #sorries() > 0 do
  rounds = rounds + 1
  if rounds > 5 then fail('too many rounds') end
  local before = #sorries()
  local done = #progress
  vim.api.nvim_win_set_cursor(0, sorries()[1])
  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = {} }
  local answers = vim.lsp.buf_request_sync(0, 'textDocument/codeAction', params, 30000)
  local action
  for _, answer in pairs(answers or {}) do
    for _, candidate in ipairs(answer.result or {}) do
      if candidate.title == 'Prove this sorry (prover)' then action = candidate end
    end
  end
  if not action then fail('no "Prove this sorry" action: ' .. vim.inspect(answers)) end
  vim.lsp.buf_request_sync(0, 'workspace/executeCommand', action.command, 30000)
  if not vim.wait(60000, function() return #sorries() < before end, 50) then
    fail('the sorry is still there: ' .. table.concat(messages, '\n'))
  end
  vim.wait(5000, function() return #progress > done and progress[#progress] == 'end' end, 50)
end
-- The last job's messages come after its edit.
vim.wait(2000, function() return #messages > 0 end, 50)
vim.cmd('write! ' .. vim.fn.fnameescape(out))
local f = io.open(out .. '.progress', 'w')
f:write(table.concat(progress, '\n'))
f:close()
f = io.open(out .. '.messages', 'w')
f:write(table.concat(messages, '\n'))
f:close()
vim.cmd('qall!')
