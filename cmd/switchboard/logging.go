package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// parseLevel maps a --log-level value to a slog level.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("unknown log level %q: use debug, info, warn or error", s)
}

func checkLogFormat(s string) error {
	switch s {
	case "text", "json":
		return nil
	}
	return fmt.Errorf("unknown log format %q: use text or json", s)
}

// newLogger returns the process logger: text or JSON lines on w (stderr).
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
