module lameduck.io/demo

go 1.22
