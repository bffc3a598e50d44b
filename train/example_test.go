package train_test

import (
	"fmt"

	"github.com/actorinfer/actorinfer/train"
)

func ExampleTrainBPE() {
	corpus := train.GenerateCorpus(1, 200, 0.1)
	tok, err := train.TrainBPE(corpus.Train, 600)
	if err != nil {
		panic(err)
	}
	ids := tok.NewEncoder().Encode(nil, "Once upon a time, there was a cat.", true)
	var pieces []string
	for _, id := range ids {
		pieces = append(pieces, tok.Pieces[id])
	}
	fmt.Printf("%q\n", pieces)
	fmt.Println(tok.Decode(ids))
	// Output:
	// ["<s>" " Once" " upon" " a" " time" "," " there" " was" " a" " c" "at" "."]
	// Once upon a time, there was a cat.
}
