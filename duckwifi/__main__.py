from duckwifi.entry import main

main()
