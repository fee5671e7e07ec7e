// Package signaling runs the WebSocket protocol between browsers and the media
// server: access tokens, rooms and their participants, join, resume and leave, and
// the relay of offers, answers and ICE candidates to package sfu. It knows nothing
// of appointments or health data; it asks small interfaces for those.
package signaling
