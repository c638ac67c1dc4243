package match
import ("testing";"fmt")
func BenchmarkDbgHolds(b *testing.B) {
	dbgHolds = nil
	BenchmarkMatch100k(b)
	fmt.Println(len(dbgHolds), dbgHolds)
}
