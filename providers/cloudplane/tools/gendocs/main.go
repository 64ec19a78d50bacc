// Command gendocs writes the provider's reference (docs/) from its schemas:
// run `go run ./tools/gendocs` in providers/cloudplane after a schema change.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/provider"
)

func main() {
	if err := os.RemoveAll("docs"); err != nil {
		log.Fatal(err)
	}
	for name, text := range provider.Docs() {
		p := filepath.Join("docs", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
