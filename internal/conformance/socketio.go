package main

import "net/http"

// socketIOHandler returns the Socket.IO fixture, or nil while it is not built.
func socketIOHandler() http.Handler { return nil }
