package httpapi_test

import (
	"fmt"
	"strings"

	"github.com/actorinfer/actorinfer/runners/httpapi"
)

func ExampleNewSSEReader() {
	stream := "event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: line one\r\ndata: line two\r\n\r\n"
	r := httpapi.NewSSEReader(strings.NewReader(stream))
	for {
		ev, err := r.Next()
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("%s %q\n", ev.Event, ev.Data)
	}
	// Output:
	// message_start "{\"a\":1}"
	// message "line one\nline two"
	// EOF
}
