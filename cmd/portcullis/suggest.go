package main

import (
	"strings"

	"github.com/portcullis-gw/portcullis/gateway/config"
)

// suggestCommand is the hint after "unknown command": the closest command
// name, or where flags go when the word is a flag.
func suggestCommand(word string) string {
	if strings.HasPrefix(word, "-") {
		if s := config.Suggest(strings.TrimLeft(word, "-"), []string{"help", "version"}); s != "" {
			return "; did you mean --" + s + "?"
		}
		return "; flags go after the command (portcullis <command> " + word + ")"
	}
	if s := config.Suggest(word, commandNames()); s != "" {
		return "; did you mean \"" + s + "\"?"
	}
	return ""
}
