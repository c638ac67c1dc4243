package match

// QuickPlay picks the room a player asking to "just play" game should join: among the
// public, unlocked rooms that pass f (its Game is set to game, its MinFreeSeats raised to at
// least 1, its sorting ignored), the fullest (most seats taken, held ones included: their
// players are coming back or on their way), so that rooms fill up and start rather than
// spreading players thin; the older on a tie. ok is false when no room fits: create one.
//
// The choice is advisory: another player may take the last seat first, and the room's join
// then refuses (full); ask again. Cost: one O(rooms) scan under a read lock.
func QuickPlay(d *Directory, game string, f Filter) (room Entry, ok bool) {
	f.Game = game
	f.MinFreeSeats = max(f.MinFreeSeats, 1)
	f.IncludeLocked = false
	var best *Entry
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, e := range d.rooms {
		if !f.match(e) {
			continue
		}
		if best == nil || e.Taken() > best.Taken() || (e.Taken() == best.Taken() && olderFirst(e, best) < 0) {
			best = e
		}
	}
	if best == nil {
		return Entry{}, false
	}
	return *best, true
}
