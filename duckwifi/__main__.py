from duckwifi.cli import main

main()
