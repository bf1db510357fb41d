---@meta
-- LuaCATS types shared by the tmuxclaude modules (read by lua_ls only; never required at run time).

---@class tmuxclaude.Config
---@field cli string Executable used when this Neovim is not attached to a controller.
---@field debounce_ms integer Selection debounce.
---@field title string Title for notifications.
---@field comment_keymap? string Key for <Plug>(tmuxclaude-comment) in normal and visual mode (nil: none).

---@class tmuxclaude.AttachOpts
---@field channel integer RPC channel of the controller.
---@field instance_id string
---@field name string
---@field worktree string
---@field debounce_ms? integer
---@field state? string the instance's state at attach time (later ones come through set_status)
---@field glyph? string its state glyph for the statusline

---@class tmuxclaude.State
---@field channel? integer
---@field instance_id? string
---@field name? string
---@field worktree? string
---@field status? string last state the controller pushed
---@field glyph? string glyph of that state

---@class tmuxclaude.Position
---@field line integer 0-based
---@field character integer 0-based byte column

---@class tmuxclaude.Range
---@field start tmuxclaude.Position
---@field end tmuxclaude.Position
---@field isEmpty boolean

---@class tmuxclaude.Selection
---@field text string
---@field filePath string
---@field fileUrl string
---@field selection tmuxclaude.Range

---@alias tmuxclaude.DiffStatus "pending"|"accepted"|"rejected"

---@class tmuxclaude.Diff
---@field id string
---@field tab_name string
---@field file_path string
---@field tab integer
---@field orig_buf integer
---@field orig_win integer
---@field orig_created boolean true when the diff loaded the file buffer itself
---@field orig_scratch boolean true for a new file (empty scratch buffer on the left)
---@field prop_buf integer
---@field group integer
---@field status tmuxclaude.DiffStatus
---@field ui_open boolean
---@field stat? table fs_stat of the file when accepted, to notice the CLI's write

---@class tmuxclaude.ToolError
---@field __error {code: integer, message: string}
