package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/net/ws"
)

// collector exports the engine's and the WebSocket layer's counters as Prometheus series. It
// reads the atomic counters at scrape time, so the hot paths pay nothing for it.
type collector struct {
	e  *engine.Metrics
	ws *ws.Metrics

	rooms, players, playersAway, conns, ticks, encodes, panics, floods, slow, replaced *prometheus.Desc
	// The engine's hostile-client limits.
	malformed, inputPanics, requestsRefused, gameConns, connsRefused, originsRefused                  *prometheus.Desc
	bytesIn, bytesOut, payloadIn, payloadOut, ratio, lateness                                         *prometheus.Desc
	roomsAsleep, roomsCreated, roomsMoved, roomsRefused, snapshotsHeld, baselinesLost, baselineResets *prometheus.Desc
	frameFloods, pongsSkipped, budgetHeld, budgetWaits, budgetRefused, inflateThrottled, largeFreed   *prometheus.Desc
	peersSilent, writeFailures, pollRescues, batchedWrites, pulledMessages                            *prometheus.Desc
}

func newCollector(e *engine.Metrics, w *ws.Metrics) *collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("rallypoint_"+name, help, nil, nil)
	}
	return &collector{
		e: e, ws: w,
		rooms:       d("rooms", "Rooms running."),
		players:     d("players", "Players seated in rooms (connected or within their grace period)."),
		playersAway: d("players_away", "Seated players whose connection dropped: their seat is held for the grace period."),
		conns:       d("connections", "WebSocket connections open."),
		ticks:       d("ticks_total", "Room ticks run."),
		encodes:     d("snapshot_encodes_total", "Snapshot frames encoded (frame cache misses)."),
		panics:      d("room_panics_total", "Rooms ended by a panic in game code."),
		floods:      d("inputs_dropped_total", "Inputs dropped because a player already had a tick's maximum waiting."),
		slow:        d("slow_consumers_total", "Connections closed because their outbound queue filled."),
		replaced:    d("snapshots_replaced_total", "Latest-wins messages replaced before they were sent."),
		bytesIn:     d("bytes_in_total", "WebSocket bytes read after the handshake."),
		bytesOut:    d("bytes_out_total", "WebSocket bytes written after the handshake."),
		payloadIn:   d("payload_in_total", "Message bytes received, after inflation."),
		payloadOut:  d("payload_out_total", "Message bytes sent, before compression."),
		ratio:       d("compression_ratio", "Bytes written over message bytes sent (lower is better; framing included)."),
		lateness:    d("tick_lateness_seconds", "How late room ticks started against their schedule."),

		malformed:       d("malformed_messages_total", "Client messages refused as malformed (0x16 code 1)."),
		inputPanics:     d("input_decoder_panics_total", "Inputs refused because the game's input decoder panicked on them."),
		requestsRefused: d("requests_refused_total", "Requests answered with code 8: the player already had MaxPendingRequests waiting."),
		gameConns:       d("game_connections", "Connections the game endpoint holds, handshakes included (engine.Options.MaxConns bounds them)."),
		connsRefused: prometheus.NewDesc("rallypoint_connections_refused_total",
			"Game connections refused before the upgrade: limit=client (429, MaxConnsPerClient) or server (503, MaxConns).", []string{"limit"}, nil),
		originsRefused: d("origins_refused_total", "Browser handshakes refused (403) for their Origin or, with -public-hosts, their Host."),
		roomsAsleep:    d("rooms_asleep", "Empty rooms sleeping instead of ticking."),
		snapshotsHeld:  d("snapshots_held_total", "Snapshots not sent to a player whose acknowledgements were an AckWindow behind (a client that could not keep up)."),
		baselinesLost:  d("baselines_lost_total", "Acknowledgements that came too late to serve as a delta baseline (each cost a full snapshot)."),
		baselineResets: d("baseline_resets_total", "Full snapshots asked for with [4, 0] by clients that could not apply a delta."),
		roomsCreated:   d("rooms_created_total", "Rooms started."),
		roomsMoved:     d("rooms_moved_total", "Rooms of a Movable game moved to another node with their state when this node drained."),
		roomsRefused: prometheus.NewDesc("rallypoint_rooms_refused_total",
			"Room creations refused: max_rooms (the server's room limit), client (a client address's budget), rate (the server-wide creation rate).",
			[]string{"reason"}, nil),
		frameFloods:      d("ws_frame_floods_total", "Connections closed with 1008 for sending frames faster than the frame budget."),
		pongsSkipped:     d("ws_pongs_skipped_total", "Pongs not sent because a newer ping came before they went out (RFC 6455 §5.5.3)."),
		budgetHeld:       d("ws_budget_held_bytes", "Bytes inbound messages hold now against their memory budget."),
		budgetWaits:      d("ws_budget_waits_total", "Reads that waited for the inbound memory budget."),
		budgetRefused:    d("ws_budget_refused_total", "Connections closed with 1013 because the inbound memory budget stayed full."),
		inflateThrottled: d("ws_inflate_throttled_total", "Pauses of a connection that inflated faster than its inflate rate."),
		peersSilent:      d("ws_peers_silent_total", "Connections dropped because a ping went unanswered for the pong timeout (-peer-timeout)."),
		writeFailures:    d("ws_write_failures_total", "Connections dropped because a write to the socket failed (reset by the peer, or not read for the write timeout)."),
		pollRescues:      d("ws_poll_rescues_total", "Served connections found waiting in the poller with unread bytes after a ping interval of silence, and woken (a lost wake-up; should stay 0)."),
		pulledMessages:   d("ws_pulled_messages_total", "Messages rooms read at their tick (engine.RoomConfig.ReadAtTick: the shooter's) instead of on arrival; stays 0 where connections cannot be pulled (TLS), whose messages then cost a wake-up each."),
		batchedWrites:    d("ws_batched_writes_total", "Frames (a room's snapshots) handed to the kernel through io_uring, several to a system call; stays 0 where the kernel or a seccomp profile refuses io_uring, and every write then costs a write(2) of its own."),
		largeFreed:       d("ws_large_buffers_freed_bytes_total", "Bytes of large inbound buffers left to the garbage collector instead of a pool."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rooms, c.players, c.playersAway, c.conns, c.ticks, c.encodes, c.panics, c.floods,
		c.slow, c.replaced, c.bytesIn, c.bytesOut, c.payloadIn, c.payloadOut, c.ratio, c.lateness,
		c.malformed, c.inputPanics, c.requestsRefused, c.gameConns, c.connsRefused, c.originsRefused,
		c.roomsAsleep, c.roomsCreated, c.roomsMoved, c.roomsRefused, c.snapshotsHeld, c.baselinesLost, c.baselineResets,
		c.frameFloods, c.pongsSkipped, c.budgetHeld, c.budgetWaits, c.budgetRefused, c.inflateThrottled, c.largeFreed, c.peersSilent, c.writeFailures, c.pollRescues, c.batchedWrites, c.pulledMessages} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.rooms, c.e.Rooms.Load())
	gauge(c.players, c.e.Players.Load())
	gauge(c.playersAway, c.e.PlayersAway.Load())
	gauge(c.roomsAsleep, c.e.RoomsAsleep.Load())
	counter(c.roomsCreated, c.e.RoomsCreated.Load())
	counter(c.roomsMoved, c.e.RoomsMoved.Load())
	counter(c.snapshotsHeld, c.e.SnapshotsHeld.Load())
	counter(c.baselinesLost, c.e.BaselinesLost.Load())
	counter(c.baselineResets, c.e.BaselineResets.Load())
	for reason, v := range map[string]int64{"max_rooms": c.e.RoomsRefusedMax.Load(), "client": c.e.RoomsRefusedClient.Load(), "rate": c.e.RoomsRefusedRate.Load()} {
		ch <- prometheus.MustNewConstMetric(c.roomsRefused, prometheus.CounterValue, float64(v), reason)
	}
	gauge(c.conns, c.ws.Open.Load())
	counter(c.ticks, c.e.Ticks.Load())
	counter(c.encodes, c.e.Encodes.Load())
	counter(c.panics, c.e.Panics.Load())
	counter(c.floods, c.e.InputsDropped.Load())
	counter(c.slow, c.ws.SlowConsumers.Load())
	counter(c.replaced, c.ws.LatestReplaced.Load())
	counter(c.malformed, c.e.Malformed.Load())
	counter(c.inputPanics, c.e.InputPanics.Load())
	counter(c.requestsRefused, c.e.RequestsRefused.Load())
	gauge(c.gameConns, c.e.Conns.Load())
	ch <- prometheus.MustNewConstMetric(c.connsRefused, prometheus.CounterValue, float64(c.e.ConnsRefusedPerClient.Load()), "client")
	ch <- prometheus.MustNewConstMetric(c.connsRefused, prometheus.CounterValue, float64(c.e.ConnsRefused.Load()), "server")
	counter(c.originsRefused, c.e.OriginsRefused.Load())
	counter(c.bytesIn, c.ws.BytesIn.Load())
	counter(c.bytesOut, c.ws.BytesOut.Load())
	counter(c.payloadIn, c.ws.PayloadIn.Load())
	counter(c.payloadOut, c.ws.PayloadOut.Load())
	counter(c.frameFloods, c.ws.FrameFloods.Load())
	counter(c.pongsSkipped, c.ws.PongsSkipped.Load())
	gauge(c.budgetHeld, c.ws.BudgetHeld.Load())
	counter(c.budgetWaits, c.ws.BudgetWaits.Load())
	counter(c.budgetRefused, c.ws.BudgetRefused.Load())
	counter(c.inflateThrottled, c.ws.InflateThrottled.Load())
	counter(c.largeFreed, c.ws.LargeBuffersFreed.Load())
	counter(c.peersSilent, c.ws.PeersSilent.Load())
	counter(c.writeFailures, c.ws.WriteFailures.Load())
	counter(c.pollRescues, c.ws.PollRescues.Load())
	counter(c.batchedWrites, c.ws.BatchedWrites.Load())
	counter(c.pulledMessages, c.ws.PulledMessages.Load())
	if p := c.ws.PayloadOut.Load(); p > 0 {
		ch <- prometheus.MustNewConstMetric(c.ratio, prometheus.GaugeValue, float64(c.ws.BytesOut.Load())/float64(p))
	}
	bounds, cum := c.e.TickLateness.Buckets()
	buckets := make(map[float64]uint64, len(bounds)-1)
	for i := 0; i < len(bounds)-1; i++ {
		buckets[bounds[i].Seconds()] = uint64(cum[i])
	}
	ch <- prometheus.MustNewConstHistogram(c.lateness, uint64(c.e.TickLateness.Count()), c.e.TickLateness.Sum().Seconds(), buckets)
}
