-- Drives `prover lsp` from a real headless Neovim (0.7 and later): code action on the buffer's
-- `sorry`, its command, then wait until the server's edit has replaced the `sorry`.
-- Environment: PROVER_BIN, PROVER_ARGS (newline-separated), PROVER_OUT (where the buffer and the
-- progress kinds are written).
local bin = os.getenv('PROVER_BIN')
local out = os.getenv('PROVER_OUT')
local cmd = { bin, 'lsp' }
for arg in string.gmatch(os.getenv('PROVER_ARGS') or '', '[^\n]+') do
  table.insert(cmd, arg)
end

local progress = {}
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
  },
}
local id = vim.lsp.start_client(config)
if not id then fail('the server did not start') end
vim.lsp.buf_attach_client(0, id)
if not vim.wait(30000, function() return ready end, 50) then fail('no initialize answer') end

-- The cursor on the `sorry`.
local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
for lnum, line in ipairs(lines) do
  local col = string.find(line, 'sorry', 1, true)
  if col and not string.find(line, '^%s*%-%-') then
    vim.api.nvim_win_set_cursor(0, { lnum, col - 1 })
    break
  end
end
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

local function has_sorry()
  for _, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    if string.find(line, 'sorry', 1, true) and not string.find(line, '^%s*%-%-') then return true end
  end
  return false
end
if not vim.wait(60000, function() return not has_sorry() end, 50) then
  fail('the sorry is still there')
end
vim.wait(5000, function() return progress[#progress] == 'end' end, 50)
vim.cmd('write! ' .. vim.fn.fnameescape(out))
local f = io.open(out .. '.progress', 'w')
f:write(table.concat(progress, '\n'))
f:close()
vim.cmd('qall!')
