// Package liberrors owns the guard test that keeps operator advice out of
// the library packages' error texts.
//
// A library package (every package outside cmd/ and internal/: store,
// sync, wechat, scanner, hub, printer, report, fleet, pin, tui, sim, ...)
// states facts in its errors and carries them in typed errors (sentinels
// for errors.Is, small structs for errors.As). It never names a config
// key ("[store] path", "wechat.terminal_key_file") or a command
// ("cardtill db backup", "systemctl stop cardtill"): which key or command
// helps is the CLI's knowledge, added where the operator reads the error
// (cmd/cardtill's advice). The test parses every non-test Go file of the
// library packages and fails, naming file and line, on an error text that
// does. The package has no code of its own.
package liberrors
