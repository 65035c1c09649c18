package console

import (
	"strings"

	"cardtill/internal/config"
)

// Lang is the language of the till screen and of the CLI's reports:
// [ui] lang when set; else the locale of the environment (LC_ALL,
// LC_MESSAGES, LANG: the first one set); else, where there is one, the
// user's display language of the system (on Windows, where LANG is not set,
// GetUserDefaultUILanguage); else English.
func Lang(cfgLang string, getenv func(string) string) string {
	if cfgLang != "" {
		return cfgLang
	}
	if l, ok := langFromLocaleEnv(getenv); ok {
		return l
	}
	if id, ok := userUILanguage(); ok {
		return langFromLANGID(id)
	}
	return "en"
}

// langFromLocaleEnv reads the POSIX locale variables, as tui.LangFromEnv
// does; ok is false when none is set.
func langFromLocaleEnv(getenv func(string) string) (lang string, ok bool) {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" {
			if strings.HasPrefix(strings.ToLower(s), "zh") {
				return "zh", true
			}
			return "en", true
		}
	}
	return "", false
}

// langFromLANGID maps a Windows LANGID to a catalogue: every Chinese
// (primary language LANG_CHINESE, 0x04: zh-CN 0x0804, zh-TW 0x0404, zh-HK
// 0x0C04, zh-SG 0x1004, zh-MO 0x1404) is "zh", anything else "en".
func langFromLANGID(id uint16) string {
	const primaryMask, langChinese = 0x3ff, 0x04
	if id&primaryMask == langChinese {
		return "zh"
	}
	return "en"
}

// ASCII reports whether the screen must be drawn in ASCII and
// English ([ui] console): "auto" on the Linux console (TERM=linux), whose
// font has no Chinese and few symbols.
func ASCII(mode string, getenv func(string) string) bool {
	switch mode {
	case "ascii":
		return true
	case "unicode":
		return false
	}
	return getenv("TERM") == "linux"
}

// ScreenLang is the till screen's language: English on a console that
// cannot draw Chinese (ASCII), else Lang.
func ScreenLang(cfg *config.Config, getenv func(string) string) string {
	if ASCII(cfg.UI.Console, getenv) {
		return "en"
	}
	return Lang(cfg.UI.Lang, getenv)
}
