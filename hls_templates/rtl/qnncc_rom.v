// qnncc RTL library: read-only memory initialised by $readmemh, one registered read port.
//
// DEPTH words of WIDTH bits from INIT_FILE (one hex word per line, word 0 first).
// q <= mem[addr] on a rising edge with en high (read latency 1, as block RAM).
// RAM_STYLE ("block", "distributed", "ultra" or "auto") becomes the rom_style
// attribute read by Vivado and Yosys.
module qnncc_rom #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter AW = (DEPTH > 1) ? $clog2(DEPTH) : 1,
    parameter INIT_FILE = "",
    parameter RAM_STYLE = "auto"
) (
    input wire clk,
    input wire en,
    input wire [AW-1:0] addr,
    output reg [WIDTH-1:0] q
);
  generate
    if (RAM_STYLE == "block") begin : g_block
      (* rom_style = "block" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
      initial $readmemh(INIT_FILE, mem);
      always @(posedge clk) if (en) q <= mem[addr];
    end else if (RAM_STYLE == "distributed") begin : g_dist
`ifdef YOSYS
      // Yosys maps read-only LUT memories as logic (what Vivado does with a distributed ROM)
      (* rom_style = "logic" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
`else
      (* rom_style = "distributed" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
`endif
      initial $readmemh(INIT_FILE, mem);
      always @(posedge clk) if (en) q <= mem[addr];
    end else if (RAM_STYLE == "ultra") begin : g_ultra
      (* rom_style = "ultra" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
      initial $readmemh(INIT_FILE, mem);
      always @(posedge clk) if (en) q <= mem[addr];
    end else begin : g_auto
      reg [WIDTH-1:0] mem[0:DEPTH-1];
      initial $readmemh(INIT_FILE, mem);
      always @(posedge clk) if (en) q <= mem[addr];
    end
  endgenerate
endmodule
